<?php
use PHPUnit\Framework\TestCase;

final class RendererTest extends TestCase {

	private static function item( array $fields = array() ) {
		return array_merge(
			array(
				'id'           => '7',
				'title'        => 'Grid operators brace for winter',
				'url'          => 'https://news.example.com/energy/grid/',
				'category'     => 'Energy',
				'published_at' => '2026-10-31T17:50:17Z',
				'image_url'    => 'https://news.example.com/img/7.jpg',
			),
			$fields
		);
	}

	private static function args( array $fields = array() ) {
		return array_merge(
			array(
				'article_id' => '42',
				'n'          => 5,
				'title'      => 'You might also like',
				'widget'     => true,
			),
			$fields
		);
	}

	public function test_cards_use_the_widget_markup() {
		$html = Newsrec_Renderer::render( 'related', array( self::item() ), self::args() );
		$this->assertSame(
			'<div class="newsrec-block newsrec-block--related" data-newsrec-related data-article-id="42" data-n="5" data-title="You might also like" data-heading-level="2">'
			. '<section class="newsrec newsrec--related" aria-label="You might also like"><h2 class="newsrec__title">You might also like</h2>'
			. '<ul class="newsrec__list"><li class="newsrec__item"><a class="newsrec__card" href="https://news.example.com/energy/grid/">'
			. '<img class="newsrec__image" src="https://news.example.com/img/7.jpg" alt="" loading="lazy" decoding="async">'
			. '<span class="newsrec__headline">Grid operators brace for winter</span><span class="newsrec__meta"><span class="newsrec__section">Energy</span>'
			. '<time class="newsrec__date" datetime="2026-10-31T17:50:17Z">31 Oct 2026</time></span></a></li></ul></section></div>',
			$html
		);
	}

	public function test_hostile_service_data_is_escaped_or_dropped() {
		$items = array(
			self::item(
				array(
					'title'        => '<script>alert(1)</script> "quoted" & \'single\'',
					'category'     => '<img src=x onerror=alert(2)>',
					'url'          => 'https://news.example.com/a?x="><script>alert(3)</script>',
					'image_url'    => 'javascript:alert(4)',
					'published_at' => '"><b>',
				)
			),
			self::item( array( 'url' => 'javascript:alert(5)' ) ),
			self::item( array( 'url' => ' data:text/html,hi' ) ),
			self::item( array( 'title' => '' ) ),
			self::item( array( 'title' => array( 'not', 'text' ) ) ),
			'not an item',
		);
		$html  = Newsrec_Renderer::render( 'related', $items, self::args( array( 'title' => 'Mehr <b>dazu</b> "hier"' ) ) );
		$this->assertStringNotContainsString( '<script', $html );
		$this->assertStringNotContainsString( '<img src=x', $html );
		$this->assertStringNotContainsString( '<b>', $html );
		$this->assertStringNotContainsString( 'javascript:', $html );
		$this->assertStringNotContainsString( 'data:', $html );
		$this->assertStringContainsString( '&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &#039;single&#039;', $html );
		$this->assertStringContainsString( 'aria-label="Mehr &lt;b&gt;dazu&lt;/b&gt; &quot;hier&quot;"', $html );
		$this->assertSame( 1, substr_count( $html, '<li ' ) ); // Only the first item has a title and an http(s) link.
		$this->assertStringNotContainsString( 'newsrec__image', $html );
		$this->assertStringNotContainsString( '<time', $html ); // Not a date.
	}

	public function test_no_usable_item_means_no_block() {
		$this->assertSame( '', Newsrec_Renderer::render( 'related', array(), self::args() ) );
		$this->assertSame( '', Newsrec_Renderer::render( 'most-viewed', array( self::item( array( 'url' => '' ) ) ), self::args() ) );
		$this->assertSame( '', Newsrec_Renderer::render( 'latest', array( self::item() ), self::args() ) );
	}

	public function test_most_viewed_is_an_ordered_list_with_its_window() {
		$html = Newsrec_Renderer::render(
			'most-viewed',
			array( self::item(), self::item( array( 'id' => '8' ) ) ),
			array(
				'n'             => 2,
				'title'         => 'Most viewed',
				'window'        => '24h',
				'heading_level' => 3,
				'widget'        => true,
			)
		);
		$this->assertStringStartsWith( '<div class="newsrec-block newsrec-block--most-viewed" data-newsrec-most-viewed data-n="2" data-title="Most viewed" data-heading-level="3" data-window="24h">', $html );
		$this->assertStringContainsString( '<h3 class="newsrec__title">Most viewed</h3><ol class="newsrec__list">', $html );
		$this->assertSame( 2, substr_count( $html, '<li ' ) );
		$this->assertStringNotContainsString( 'data-article-id', $html );
	}

	public function test_without_the_widget_the_block_is_marked_done_so_a_widget_leaves_it_alone() {
		$html = Newsrec_Renderer::render( 'related', array( self::item() ), self::args( array( 'widget' => false ) ) );
		$this->assertStringContainsString( ' data-newsrec-state="done"', $html );
		$this->assertStringNotContainsString( 'data-newsrec-state', Newsrec_Renderer::render( 'related', array( self::item() ), self::args() ) );
	}

	public function test_a_bad_heading_level_falls_back_to_h2() {
		$html = Newsrec_Renderer::render( 'related', array( self::item() ), self::args( array( 'heading_level' => 9 ) ) );
		$this->assertStringContainsString( '<h2 class="newsrec__title">', $html );
	}
}
